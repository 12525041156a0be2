// @tuneloop/rounds: alignment rounds, the state machine of the feedback loop.
export { rounds, SERVICE_NAME } from './service.ts';
