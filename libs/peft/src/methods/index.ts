// Registers every built-in PEFT method (importing a method's index.ts registers it).
import './full/index.ts';
import './partial/index.ts';
import './lora/index.ts';
import './qlora/index.ts';
import './dora/index.ts';
import './vera/index.ts';
import './adalora/index.ts';
