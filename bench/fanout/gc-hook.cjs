// Preloaded into the measured servers (node --expose-gc --require …): SIGUSR2 runs a full GC, so the
// bench can read RSS after collection. Not part of the product.
process.on('SIGUSR2', () => {
  if (typeof global.gc === 'function') global.gc();
});
