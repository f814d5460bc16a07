import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { ClientFrames, type ClientFrame, type ClientFrameType } from './schemas.js';

const ajv = new Ajv({ allErrors: false, strict: false, coerceTypes: false });

const validators = new Map<string, ValidateFunction>();
for (const [type, schema] of Object.entries(ClientFrames)) validators.set(type, ajv.compile(schema));

export type FrameCheck =
  | { ok: true; frame: ClientFrame }
  | { ok: false; id: string | null; message: string };

function describe(errors: ErrorObject[] | null | undefined): string {
  const e = errors?.[0];
  if (!e) return 'invalid frame';
  const where = e.instancePath ? e.instancePath.slice(1).replace(/\//g, '.') : 'frame';
  if (e.keyword === 'additionalProperties') return `unknown field "${(e.params as { additionalProperty: string }).additionalProperty}"`;
  if (e.keyword === 'required') return `missing field "${(e.params as { missingProperty: string }).missingProperty}"`;
  return `${where} ${e.message ?? 'is invalid'}`;
}

/** Checks a parsed JSON value against the client frame schemas. */
export function checkFrame(value: unknown): FrameCheck {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { ok: false, id: null, message: 'a frame must be a JSON object' };
  }
  const v = value as Record<string, unknown>;
  const id = typeof v.id === 'string' && v.id.length > 0 && v.id.length <= 64 ? v.id : null;
  if (typeof v.type !== 'string') return { ok: false, id, message: 'missing field "type"' };
  const validate = validators.get(v.type);
  if (!validate) return { ok: false, id, message: `unknown frame type "${v.type.slice(0, 40)}"` };
  if (id === null) return { ok: false, id: null, message: 'field "id" must be a string of 1 to 64 characters' };
  if (!validate(value)) {
    // For unions Ajv reports the first branch's failure; name the closest useful problem.
    return { ok: false, id, message: describe(validate.errors) };
  }
  return { ok: true, frame: value as ClientFrame };
}

export function isFrameType(type: string): type is ClientFrameType {
  return validators.has(type);
}
