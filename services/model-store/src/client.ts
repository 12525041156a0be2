// The model store's gRPC client helpers live in @tuneloop/jobs (shared job / store plumbing, type:io); re-exported
// here so `import { connectStore, ... } from '@tuneloop/model-store'` keeps working.
export { folderEntries, sendFolder, responseOf, receive, connectStore, progressBar, UPLOAD_CHUNK } from '@tuneloop/jobs';
