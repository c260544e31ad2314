// Every JSON document the tests see is checked against the schema shipped in the repository (schema/result-1.json)
// by a real validator (ajv): the contract a CI consumer codes against is the one the tool keeps.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import AjvModule from 'ajv';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

const Ajv = AjvModule.default ?? AjvModule;
const ajv = new Ajv({ allErrors: true, strict: true });
export const RESULT_SCHEMA = JSON.parse(readFileSync(path.join(REPO_ROOT, 'schema', 'result-1.json'), 'utf8'));
const validate = ajv.compile(RESULT_SCHEMA);

/** Throws with ajv's findings when `doc` is not a schema-1 result. */
export function assertResultSchema(doc: unknown, where = 'JSON output'): void {
  if (!validate(doc))
    throw new Error(
      `${where} does not match schema/result-1.json: ${ajv.errorsText(validate.errors, { separator: '; ' })}`,
    );
}
