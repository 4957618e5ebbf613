/** Errors of the template builders and the capacity model: one base class, each with its cause. */
import { namedError } from '../contract/errors';

/** Something in the stack's own configuration or inputs is wrong; the message lists every problem. */
export class TemplateError extends namedError('TemplateError', Error) {}

/** A stack configuration a template cannot be built from. */
export class ConfigError extends namedError('ConfigError', TemplateError) {}

/** City numbers the capacity model cannot plan for. */
export class PlanInputError extends namedError('PlanInputError', TemplateError) {}
