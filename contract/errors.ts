/**
 * How the project's errors are declared, for the template builders (template/errors.ts) and the
 * processor (handlers/processor/errors.ts) alike: a class whose instances are named for it, so that
 * logs and `error.name` say which error it is, also in the minified bundle (where class names are
 * mangled, so `new.target.name` would not do).
 */

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type ErrorConstructor = abstract new (...args: any[]) => Error;

/** A base for the error class `name`, extending `base`: `class X extends namedError('X', Base) {}`. */
export function namedError<B extends ErrorConstructor>(name: string, base: B) {
  abstract class Named extends base {
    override name = name;
  }
  return Named;
}
