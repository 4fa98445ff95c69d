// Bundled into the CLI by cli-bundle.mjs, for the packages it loads on first use.

/**
 * A stand-in for one class or function a package exports: the package is loaded on the stand-in's
 * first use, and `new`, calls, `instanceof` and static members all reach the real export.
 *
 * @param {() => Record<string, Function>} load the package, loaded once
 * @param {string} key the export's name
 * @example
 *   export const DynamoDBClient = lazyExport(load, 'DynamoDBClient');
 *   new DynamoDBClient({}); // loads @aws-sdk/client-dynamodb here
 */
export function lazyExport(load, key) {
  const real = () => load()[key];
  const standIn = new Proxy(function () {}, {
    construct: (_, args, newTarget) => Reflect.construct(real(), args, newTarget === standIn ? real() : newTarget),
    apply: (_, self, args) => Reflect.apply(real(), self, args),
    get: (_, property) => (property === Symbol.hasInstance ? (value) => value instanceof real() : real()[property]),
    has: (_, property) => property in real(),
  });
  return standIn;
}
