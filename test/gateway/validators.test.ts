// Body validators compile after listen (or on first use), not at start-up, and still reject bad bodies with ajv's errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { deferredValidators } from '../../src/gateway/validators.ts';

const schema = { type: 'object', required: ['model'], properties: { model: { type: 'string' } } };
const route = { schema, method: 'POST', url: '/x', httpPart: 'body' };

test('nothing is compiled until a validator is used or warmed; warm() compiles the rest', async () => {
  const v = deferredValidators();
  let ajvs = 0;
  const compile = v.buildValidator(
    {},
    {
      customOptions: {},
      plugins: [],
      onCreate: () => {
        ajvs++;
      },
    },
  );
  const first = compile(route);
  const second = compile({ ...route, url: '/y' });
  assert.equal(ajvs, 0, 'no ajv instance before a validator is needed');
  assert.equal(first({ model: 'm' }), true);
  assert.equal(ajvs, 1);
  await v.warm();
  assert.equal(second({ model: 'm' }), true);
  assert.equal(ajvs, 1, 'one ajv instance for every route');
});

test("a failed validation leaves ajv's errors on the function fastify called", async () => {
  const v = deferredValidators();
  const validate = v.buildValidator({}, { customOptions: { coerceTypes: false }, plugins: [] })(route);
  assert.equal(validate({ model: 3 }), false);
  assert.equal(validate.errors?.[0]?.instancePath, '/model');
  assert.equal(validate({}), false);
  assert.match(String(validate.errors?.[0]?.message), /model/);
  assert.equal(validate({ model: 'ok' }), true);
  assert.equal(validate.errors, null);
});
