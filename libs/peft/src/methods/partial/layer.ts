// Partial fine-tuning wraps no layer either: it reuses full's per-unit trainable switch with a rule.
export { setUnitsTrainable, saveUnits, loadUnits } from '../full/layer.ts';
