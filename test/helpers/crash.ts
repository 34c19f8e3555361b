/** The crash wrapper lives with the demo, which crashes consumers too; tests use the same one. */
export { CRASHED, crashingHandler, CrashingTransport, type CrashPoint } from "../../src/demo/crash.ts";
