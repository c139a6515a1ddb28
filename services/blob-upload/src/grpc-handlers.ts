import { RegistryError } from '@ocireg/errors';
import type { AsyncService } from '@ocireg/grpc';
import { blobupload } from '@ocireg/proto';
import type { UploadService } from './upload-service';

type Server = AsyncService<blobupload.BlobUploadServiceServer>;

/** Adapts UploadService to the BlobUploadService contract. */
export function blobUploadHandlers(uploads: UploadService): Server {
  return {
    async startUpload(request) {
      const session = await uploads.start(request.repository, request.owner);
      return { uploadId: session.id };
    },

    async appendUpload(requests) {
      const iterator = requests[Symbol.asyncIterator]();
      const first = await iterator.next();
      if (first.done || first.value.part?.$case !== 'header') {
        throw new RegistryError('BLOB_UPLOAD_INVALID', 'the first message of AppendUpload must be its header');
      }
      const header = first.value.part.header;
      async function* data(): AsyncIterable<Buffer> {
        for (let next = await iterator.next(); !next.done; next = await iterator.next()) {
          if (next.value.part?.$case !== 'data') throw new RegistryError('BLOB_UPLOAD_INVALID', 'only data may follow the header');
          yield Buffer.from(next.value.part.data.buffer, next.value.part.data.byteOffset, next.value.part.data.byteLength);
        }
      }
      const size = await uploads.append(header.uploadId, header.repository, header.owner, { offset: header.expectedOffset, length: header.expectedLength }, data());
      return { size };
    },

    async getUpload(request) {
      return { size: await uploads.status(request.uploadId, request.repository, request.owner) };
    },

    async completeUpload(request) {
      return uploads.complete(request.uploadId, request.repository, request.owner, request.digest);
    },

    async cancelUpload(request) {
      await uploads.cancel(request.uploadId, request.repository, request.owner);
      return {};
    },
  };
}
