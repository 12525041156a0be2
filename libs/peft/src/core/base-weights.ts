// The base model's own weights as trainable units (for full and partial fine-tuning): each linear
// (its W^T and bias variables) and every other HF-named tf.Variable (embeddings, norms).
import * as tf from '@tensorflow/tfjs-core';
import { nonLinearVariables, type PeftHost } from './host.ts';
import { denseWeightOf, type LinearModule } from './linear.ts';
import { toNamed, fromNamed, type NamedTensor } from '../format/tensors.ts';

interface TrainableLinear extends LinearModule {
  setTrainable(t: boolean): void;
  weightT: tf.Variable;
  bias: tf.Variable | null;
}

function isTrainableLinear(l: LinearModule): l is TrainableLinear {
  const d = l as Partial<TrainableLinear>;
  return typeof d.setTrainable === 'function' && d.weightT instanceof tf.Variable;
}

/** A unit that trains or not as a whole, named by its HF module path ('model.layers.0.mlp.up_proj', 'model.norm'). */
export interface BaseUnit {
  module: string;
  /** HF weight name -> variable. */
  variables: Map<string, tf.Variable>;
  setTrainable(t: boolean): void;
  /** HF-layout tensors for saving (a linear's weight is [out, in]). */
  save(): Map<string, NamedTensor>;
  load(tensors: Map<string, NamedTensor>): void;
}

function linearUnit(l: LinearModule): BaseUnit {
  if (!isTrainableLinear(l)) throw new Error(`${l.name}: this linear cannot be trained (no setTrainable / W^T variable; quantized?)`);
  const variables = new Map<string, tf.Variable>([[`${l.name}.weight`, l.weightT]]);
  if (l.bias) variables.set(`${l.name}.bias`, l.bias);
  return {
    module: l.name,
    variables,
    setTrainable: (t) => l.setTrainable(t),
    save() {
      const { weightT, bias } = denseWeightOf(l);
      const w = tf.transpose(weightT);
      const out = new Map([[`${l.name}.weight`, toNamed(w)]]);
      if (bias) out.set(`${l.name}.bias`, toNamed(bias));
      [weightT, w, bias].forEach((t) => t?.dispose());
      return out;
    },
    load(tensors) {
      const w = tensors.get(`${l.name}.weight`);
      if (!w) throw new Error(`weights: missing tensor '${l.name}.weight'`);
      const t = fromNamed(`${l.name}.weight`, w);
      if (t.shape.join() !== `${l.outFeatures},${l.inFeatures}`) throw new Error(`${l.name}.weight: shape must be [${l.outFeatures}, ${l.inFeatures}], got [${t.shape}]`);
      tf.tidy(() => l.weightT.assign(tf.transpose(t)));
      t.dispose();
      const b = tensors.get(`${l.name}.bias`);
      if (l.bias && b) {
        const bt = fromNamed(`${l.name}.bias`, b);
        l.bias.assign(bt);
        bt.dispose();
      }
    },
  };
}

function variableUnit(name: string, v: tf.Variable): BaseUnit {
  const module = name.replace(/\.(weight|bias)$/, '');
  return {
    module,
    variables: new Map([[name, v]]),
    setTrainable: (t) => {
      v.trainable = t;
    },
    save: () => new Map([[name, toNamed(v)]]),
    load(tensors) {
      const n = tensors.get(name);
      if (!n) throw new Error(`weights: missing tensor '${name}'`);
      const t = fromNamed(name, n);
      if (t.shape.join() !== v.shape.join()) throw new Error(`${name}: shape must be [${v.shape}], got [${t.shape}]`);
      v.assign(t);
      t.dispose();
    },
  };
}

/** Every trainable unit of the host: its linears, and its other HF-named variables. */
export function baseUnits(host: PeftHost): BaseUnit[] {
  const units = [...host.linears().values()].map(linearUnit);
  for (const [name, v] of nonLinearVariables(host)) units.push(variableUnit(name, v));
  return units;
}
