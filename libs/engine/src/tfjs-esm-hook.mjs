// Node ESM resolve hook: tfjs-core's ESM build (needed for register_all_gradients) uses extensionless
// relative imports ('./gradients', '../ops/cast'); resolve them to the '.js' file as bundlers do.
export async function resolve(specifier, context, nextResolve) {
  const parent = context.parentURL ?? '';
  if (parent.includes('/@tensorflow/tfjs-core/dist/') && specifier.startsWith('.') && !specifier.endsWith('.js')) {
    try {
      return await nextResolve(`${specifier}.js`, context);
    } catch {
      // not a file: fall through to the default resolution
    }
  }
  return nextResolve(specifier, context);
}
