// @tuneloop/proto: TypeScript generated from proto/ by ts-proto (checked in).
export {};
