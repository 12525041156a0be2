# Loads adapters written by tuneloop (scripts/export-for-peft.ts) with Hugging Face PEFT's
# PeftModel.from_pretrained on the fixture base model and compares PEFT's logits with tuneloop's.
# Run by hand (needs torch, transformers, peft): python libs/peft/scripts/check_in_peft.py OUT_DIR
import os
import sys
import warnings

import torch
from peft import PeftModel
from safetensors.torch import load_file
from transformers import LlamaForCausalLM

FX = os.path.join(os.path.dirname(__file__), "..", "src", "format", "fixtures")
IDS = torch.tensor([[1, 5, 9, 3, 7, 11, 2], [4, 8, 12, 16, 3, 6, 2]])


def main(out):
    ours = load_file(os.path.join(out, "tuneloop_logits.safetensors"))
    worst = 0.0
    for name in ["lora", "rslora", "dora", "vera", "adalora"]:
        base = LlamaForCausalLM.from_pretrained(os.path.join(FX, "base"), torch_dtype=torch.float32).eval()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            model = PeftModel.from_pretrained(base, os.path.join(out, name)).eval()
        relevant = [str(w.message).splitlines()[0] for w in caught if "key" in str(w.message).lower()]
        with torch.no_grad():
            y = model(input_ids=IDS).logits
        d = (y - ours[name]).abs().max().item()
        worst = max(worst, d)
        print(f"{name}: max |logits_peft - logits_tuneloop| = {d:.2e}; key warnings: {relevant or 'none'}")
    print("worst", worst)
    sys.exit(0 if worst < 1e-4 else 1)


if __name__ == "__main__":
    main(sys.argv[1])
