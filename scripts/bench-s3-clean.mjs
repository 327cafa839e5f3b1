// Deletes every object under a prefix of the bench bucket, so that runs on Ceph's in-memory
// store do not fill it. Usage: node scripts/bench-s3-clean.mjs PREFIX (endpoint and keys from
// the BERTH_TEST_S3_* variables that scripts/services/ceph-up.sh writes).
import { DeleteObjectsCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';

const prefix = process.argv[2];
if (!prefix) throw new Error('usage: bench-s3-clean.mjs PREFIX');
const env = process.env;
const client = new S3Client({
  endpoint: env.BERTH_TEST_S3_ENDPOINT,
  region: env.BERTH_TEST_S3_REGION ?? 'us-east-1',
  forcePathStyle: true,
  credentials: { accessKeyId: env.BERTH_TEST_S3_ACCESS_KEY, secretAccessKey: env.BERTH_TEST_S3_SECRET_KEY },
});
let token;
do {
  const page = await client.send(
    new ListObjectsV2Command({ Bucket: env.BERTH_TEST_S3_BUCKET, Prefix: prefix, ContinuationToken: token }),
  );
  const keys = (page.Contents ?? []).map((object) => ({ Key: object.Key }));
  if (keys.length > 0) {
    await client.send(new DeleteObjectsCommand({ Bucket: env.BERTH_TEST_S3_BUCKET, Delete: { Objects: keys, Quiet: true } }));
  }
  token = page.IsTruncated ? page.NextContinuationToken : undefined;
} while (token);
client.destroy();
