// Test setup for the objectives: the CPU backend and the gradients of the kernels the losses use.
// tfjs-core's Node entry point registers no gradients; register_all_gradients pulls ~500 ESM files per
// test file, so only the configs needed here are registered (same objects, same global registry).
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { logGradConfig } from '@tensorflow/tfjs-core/dist/gradients/Log_grad';
import { onesLikeGradConfig } from '@tensorflow/tfjs-core/dist/gradients/OnesLike_grad';
import { zerosLikeGradConfig } from '@tensorflow/tfjs-core/dist/gradients/ZerosLike_grad';
import { addGradConfig } from '@tensorflow/tfjs-core/dist/gradients/Add_grad';
import { castGradConfig } from '@tensorflow/tfjs-core/dist/gradients/Cast_grad';
import { clipByValueGradConfig } from '@tensorflow/tfjs-core/dist/gradients/ClipByValue_grad';
import { expGradConfig } from '@tensorflow/tfjs-core/dist/gradients/Exp_grad';
import { gatherGradConfig } from '@tensorflow/tfjs-core/dist/gradients/GatherV2_grad';
import { identityGradConfig } from '@tensorflow/tfjs-core/dist/gradients/Identity_grad';
import { log1pGradConfig } from '@tensorflow/tfjs-core/dist/gradients/Log1p_grad';
import { maximumGradConfig } from '@tensorflow/tfjs-core/dist/gradients/Maximum_grad';
import { meanGradConfig } from '@tensorflow/tfjs-core/dist/gradients/Mean_grad';
import { minimumGradConfig } from '@tensorflow/tfjs-core/dist/gradients/Minimum_grad';
import { negGradConfig } from '@tensorflow/tfjs-core/dist/gradients/Neg_grad';
import { divGradConfig } from '@tensorflow/tfjs-core/dist/gradients/RealDiv_grad';
import { reluGradConfig } from '@tensorflow/tfjs-core/dist/gradients/Relu_grad';
import { reshapeGradConfig } from '@tensorflow/tfjs-core/dist/gradients/Reshape_grad';
import { rsqrtGradConfig } from '@tensorflow/tfjs-core/dist/gradients/Rsqrt_grad';
import { selectGradConfig } from '@tensorflow/tfjs-core/dist/gradients/Select_grad';
import { sigmoidGradConfig } from '@tensorflow/tfjs-core/dist/gradients/Sigmoid_grad';
import { softplusGradConfig } from '@tensorflow/tfjs-core/dist/gradients/Softplus_grad';
import { sqrtGradConfig } from '@tensorflow/tfjs-core/dist/gradients/Sqrt_grad';
import { squareGradConfig } from '@tensorflow/tfjs-core/dist/gradients/Square_grad';
import { squaredDifferenceGradConfig } from '@tensorflow/tfjs-core/dist/gradients/SquaredDifference_grad';
import { subGradConfig } from '@tensorflow/tfjs-core/dist/gradients/Sub_grad';
import { sumGradConfig } from '@tensorflow/tfjs-core/dist/gradients/Sum_grad';
import { tileGradConfig } from '@tensorflow/tfjs-core/dist/gradients/Tile_grad';
import { multiplyGradConfig } from '@tensorflow/tfjs-core/dist/gradients/Multiply_grad';

for (const config of [
  logGradConfig,
  onesLikeGradConfig,
  zerosLikeGradConfig,
  addGradConfig,
  castGradConfig,
  clipByValueGradConfig,
  expGradConfig,
  gatherGradConfig,
  identityGradConfig,
  log1pGradConfig,
  maximumGradConfig,
  meanGradConfig,
  minimumGradConfig,
  negGradConfig,
  divGradConfig,
  reluGradConfig,
  reshapeGradConfig,
  rsqrtGradConfig,
  selectGradConfig,
  sigmoidGradConfig,
  softplusGradConfig,
  sqrtGradConfig,
  squareGradConfig,
  squaredDifferenceGradConfig,
  subGradConfig,
  sumGradConfig,
  tileGradConfig,
  multiplyGradConfig,
]) {
  tf.registerGradient(config);
}

await tf.setBackend('cpu');
