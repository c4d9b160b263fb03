// Request-body validators compiled once the node is listening rather than before: ajv compiling the OpenAI schemas
// is ~0.1 s of start-up that /ready need not wait for.
import AjvCompiler from '@fastify/ajv-compiler';

type BuildValidator = ReturnType<typeof AjvCompiler>;
type Compile = ReturnType<BuildValidator>;
type Validate = ReturnType<Compile>;

export interface DeferredValidators {
  /** fastify's `schemaController.compilersFactory.buildValidator`: fastify's own ajv compiler, compiled on demand. */
  buildValidator: BuildValidator;
  /** Compiles every validator not yet used, one per event-loop turn, so requests are answered in between. */
  warm(): Promise<void>;
}

export function deferredValidators(): DeferredValidators {
  const build = AjvCompiler();
  const pending: (() => Validate)[] = [];
  return {
    buildValidator: (externalSchemas, options) => {
      let compile: Compile | undefined;
      return (route) => {
        let fn: Validate | undefined;
        const compiled = () => (fn ??= (compile ??= build(externalSchemas, options))(route));
        pending.push(compiled);
        // fastify reads `errors` off the function it called, as ajv leaves them there.
        const validate = ((data: unknown) => {
          const f = compiled();
          const ok = f(data);
          validate.errors = f.errors;
          return ok;
        }) as Validate;
        return validate;
      };
    },
    async warm() {
      while (pending.length > 0) {
        await new Promise<void>((resolve) => setImmediate(resolve));
        pending.shift()!();
      }
    },
  };
}
