// Test setup for the objectives: the CPU backend and tfjs-core's gradient registrations (tfjs-core's
// Node entry point registers kernels' gradients only through this side-effect module).
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import '@tensorflow/tfjs-backend-cpu';

await tf.setBackend('cpu');
