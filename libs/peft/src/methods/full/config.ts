// Full fine-tuning configuration: nothing to choose, every weight trains.
import { rejectUnknown, type RawConfig } from '../../core/validate.ts';

export type FullConfig = Record<string, never>;

export function parseFullConfig(raw: RawConfig): FullConfig {
  rejectUnknown(raw, [], 'full');
  return {};
}
