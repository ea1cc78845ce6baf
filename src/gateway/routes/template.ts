// Resource ARN templates (`arn:aws:orders:us-east-1:111122223333:order/${id}`): parsed once at
// load into literal parts and variable references, filled per request by concatenation.

export interface CompiledTemplate {
  /** Variable names the template reads, in order of appearance. */
  readonly variables: readonly string[];
  /** Fills the template; `values` maps every name in `variables`. */
  fill(values: ReadonlyMap<string, string>): string;
}

export type TemplateParse = { readonly ok: true; readonly template: CompiledTemplate } | { readonly ok: false; readonly message: string };

const VARIABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Parses a `${name}` template; every `${` must close with a valid name. */
export function parseTemplate(text: string): TemplateParse {
  const literals: string[] = [];
  const variables: string[] = [];
  let rest = text;
  for (;;) {
    const open = rest.indexOf('${');
    if (open < 0) break;
    const close = rest.indexOf('}', open + 2);
    if (close < 0) return { ok: false, message: `unclosed "\${" in "${text}"` };
    const name = rest.slice(open + 2, close);
    if (!VARIABLE_NAME.test(name)) return { ok: false, message: `"\${${name}}" is not a valid variable name` };
    literals.push(rest.slice(0, open));
    variables.push(name);
    rest = rest.slice(close + 1);
  }
  literals.push(rest);
  const head = literals[0]!;
  const template: CompiledTemplate = {
    variables,
    fill(values) {
      let out = head;
      for (let i = 0; i < variables.length; i++) out += (values.get(variables[i]!) ?? '') + literals[i + 1]!;
      return out;
    },
  };
  return { ok: true, template };
}

/** Checks that a filled template is shaped like an ARN (six colon-separated parts, `arn` first); returns a message when it is not. */
export function checkArnShape(arn: string): string | undefined {
  const parts = arn.split(':');
  if (parts.length < 6 || parts[0] !== 'arn') return `"${arn}" is not an ARN (arn:partition:service:region:account:resource)`;
  if (!parts[1] || !parts[2]) return `"${arn}" lacks a partition or service`;
  if (parts.slice(5).join(':') === '') return `"${arn}" has an empty resource part`;
  return undefined;
}
