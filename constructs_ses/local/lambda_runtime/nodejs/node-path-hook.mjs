// Loaded with `node --import` before AWS's runtime client: an ES module's import of a package
// that Node.js cannot find next to the module is looked for in the `node_modules` directories of
// NODE_PATH, as Lambda's Node.js runtimes do for ES modules since Node.js 18 (layers in
// /opt/nodejs/node_modules, the SDK in /var/runtime/node_modules: "Working with layers for
// Node.js Lambda functions"). CommonJS `require` reads NODE_PATH itself.
import { registerHooks } from "node:module";
import { pathToFileURL } from "node:url";

const searched = (process.env.NODE_PATH ?? "")
  .split(":")
  .filter((dir) => dir.endsWith("/node_modules"))
  .map((dir) => pathToFileURL(`${dir.slice(0, -"node_modules".length)}index.mjs`).href);
const relative = /^(\.|\/|[a-z][a-z0-9+.-]*:)/i;

registerHooks({
  resolve(specifier, context, nextResolve) {
    try {
      return nextResolve(specifier, context);
    } catch (error) {
      if (error?.code !== "ERR_MODULE_NOT_FOUND" || relative.test(specifier)) {
        throw error;
      }
      for (const parentURL of searched) {
        try {
          return nextResolve(specifier, { ...context, parentURL });
        } catch {
          // not in this directory: the next one
        }
      }
      throw error;
    }
  },
});
