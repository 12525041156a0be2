// @tuneloop/adapter-trainer: SFT with full, partial and LoRA-family fine-tuning.
export { adapterTrainer, SERVICE_NAME } from './service.ts';
