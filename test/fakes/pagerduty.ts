// The fake PagerDuty is the folder ./pagerduty/ (one file per route, the faults, the shared
// helpers); tests and bench/ import it by this name.
export * from "./pagerduty/index.js";
