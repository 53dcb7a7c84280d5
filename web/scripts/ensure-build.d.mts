/** Whether web/dist is missing or older than the web app's sources. */
export function needsBuild(): boolean;
/** Builds web/dist when needsBuild(); true when it built. */
export function ensureBuild(): boolean;
