// @tuneloop/files: File-system adapters: Hugging Face folders on disk, atomic writes.
export {};
