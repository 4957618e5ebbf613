/** Errors of the template builders and the capacity model: one base class, each with its cause. */

/** Something in the stack's own configuration or inputs is wrong; the message lists every problem. */
export class TemplateError extends Error {
  override name = 'TemplateError';
}

/** A stack configuration a template cannot be built from. */
export class ConfigError extends TemplateError {
  override name = 'ConfigError';
}

/** City numbers the capacity model cannot plan for. */
export class PlanInputError extends TemplateError {
  override name = 'PlanInputError';
}
