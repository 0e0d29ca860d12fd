/**
 * Dummy credentials for the SDK's standard chain, set before any client is made: the EC2
 * endpoint in spec/support does not check signatures, and no test may reach real AWS.
 */
export const AWS_TEST_ENV = { AWS_ACCESS_KEY_ID: 'AKIDAUTOAMITEST', AWS_SECRET_ACCESS_KEY: 'autoami-test-secret', AWS_EC2_METADATA_DISABLED: 'true' };
Object.assign(process.env, AWS_TEST_ENV);
