// Objects and the source the event tests encode, decode and sign.
export const pod = {
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'busybox', namespace: 'default', resourceVersion: '9' },
  spec: { containers: [] },
};
/** The in-cluster API server address, the `source` Knative's ApiServerSource gives its events. */
export const source = 'https://10.96.0.1:443';
