// @tuneloop/service-kit: grpc-js bootstrap: config, health, reflection, logs, metrics, errors, shutdown.
export {};
