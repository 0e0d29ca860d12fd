/**
 * SSM's errors as the JSON 1.1 protocol carries them: HTTP 400 for everything the caller got
 * wrong or was refused, 500 only for the service's own failures. The SDK takes the code from
 * `__type` first and the x-amzn-errortype header after, so both always say the same.
 */
export class SsmFault extends Error {
  readonly code: string;
  readonly status: number;

  constructor(code: string, message: string, status = code === 'InternalServerError' ? 500 : 400) {
    super(message);
    this.name = 'SsmFault';
    this.code = code;
    this.status = status;
  }
}

/** The wording of SSM's front end (Coral) when a member breaks a model constraint. */
export function constraint(member: string, value: unknown, rule: string): SsmFault {
  const shown = value === undefined || value === null ? 'null' : `'${String(value)}'`;
  return new SsmFault(
    'ValidationException',
    `1 validation error detected: Value ${shown} at '${member}' failed to satisfy constraint: ${rule}`,
  );
}

export function parameterNotFound(name: string): SsmFault {
  return new SsmFault('ParameterNotFound', `Parameter ${name} not found.`);
}

export function patternMismatch(): SsmFault {
  return new SsmFault(
    'ParameterPatternMismatchException',
    'Parameter name: can\'t be prefixed with "aws" or "ssm" (case-insensitive). If formed as a path, it can consist of ' +
      'sub-paths divided by slash symbol; each sub-path can be formed as a mix of letters, numbers and the following 3 symbols .-_',
  );
}
