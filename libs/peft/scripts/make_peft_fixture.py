# Generates src/format/fixtures/: a tiny random LlamaForCausalLM, adapters written by Hugging Face PEFT
# (LoRA, rsLoRA, DoRA, VeRA, AdaLoRA after rank allocation) and PEFT's logits for fixed inputs.
# Run by hand (needs torch, transformers, peft): python libs/peft/scripts/make_peft_fixture.py
import json
import os
import sys

import torch
from peft import AdaLoraConfig, LoraConfig, VeraConfig, get_peft_model
from safetensors.torch import save_file
from transformers import LlamaConfig, LlamaForCausalLM

OUT = os.path.join(os.path.dirname(__file__), "..", "src", "format", "fixtures")
IDS = torch.tensor([[1, 5, 9, 3, 7, 11, 2], [4, 8, 12, 16, 3, 6, 2]])


def base_model():
    torch.manual_seed(0)
    cfg = LlamaConfig(
        vocab_size=17, hidden_size=16, intermediate_size=24, num_hidden_layers=2, num_attention_heads=4,
        num_key_value_heads=2, max_position_embeddings=64, rms_norm_eps=1e-5, rope_theta=10000.0,
        tie_word_embeddings=False, initializer_range=0.2, bos_token_id=1, eos_token_id=2, pad_token_id=0,
    )
    m = LlamaForCausalLM(cfg).float().eval()
    with torch.no_grad():
        for n, p in m.named_parameters():
            if "norm" in n:
                p.add_(0.1 * torch.randn_like(p))
    return m


def perturb(model, names):
    torch.manual_seed(1)
    with torch.no_grad():
        for n, p in model.named_parameters():
            if any(k in n for k in names):
                p.add_(0.2 * torch.randn_like(p))


def main():
    os.makedirs(OUT, exist_ok=True)
    base = base_model()
    base.save_pretrained(os.path.join(OUT, "base"), safe_serialization=True)
    expected = {}
    with torch.no_grad():
        expected["base"] = base(IDS).logits.contiguous()
    cases = {
        "lora": LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj", "down_proj"], task_type="CAUSAL_LM"),
        "rslora": LoraConfig(r=4, lora_alpha=8, use_rslora=True, target_modules="all-linear", task_type="CAUSAL_LM"),
        "dora": LoraConfig(r=2, lora_alpha=4, use_dora=True, target_modules=["q_proj", "k_proj", "up_proj"], task_type="CAUSAL_LM"),
        "vera": VeraConfig(r=4, target_modules=["q_proj", "v_proj", "down_proj"], projection_prng_key=7, save_projection=True, task_type="CAUSAL_LM"),
        "adalora": AdaLoraConfig(init_r=4, target_r=2, tinit=1, tfinal=2, total_step=6, deltaT=1, lora_alpha=8,
                                 target_modules=["q_proj", "o_proj"], task_type="CAUSAL_LM"),
    }
    for name, cfg in cases.items():
        model = get_peft_model(base_model(), cfg)
        if name == "adalora":
            model.train()
            opt = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.05)
            for step in range(1, 7):
                out = model(input_ids=IDS, labels=IDS)
                out.loss.backward()
                opt.step()
                model.base_model.update_and_allocate(step)
                opt.zero_grad()
            with torch.no_grad():  # make the kept singular values large enough to matter; pruned ones stay 0
                for n, p in model.named_parameters():
                    if "lora_E" in n:
                        p.copy_((p != 0) * (p + 0.5 * torch.randn_like(p)))
                    elif "lora_A" in n or "lora_B" in n:
                        p.add_(0.3 * torch.randn_like(p))
        else:
            perturb(model, ["lora_", "vera_lambda"])
        model.eval()
        with torch.no_grad():
            expected[name] = model(input_ids=IDS).logits.contiguous()
        model.save_pretrained(os.path.join(OUT, name), safe_serialization=True)
    save_file(expected, os.path.join(OUT, "expected_logits.safetensors"))
    json.dump({"ids": IDS.tolist(), "torch": torch.__version__, "peft": __import__("peft").__version__}, open(os.path.join(OUT, "inputs.json"), "w"), indent=2)
    print("wrote", OUT, file=sys.stderr)


if __name__ == "__main__":
    main()
