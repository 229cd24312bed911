// AdmissionReview v1 as kube-apiserver sends it to a validating webhook, and the response it
// expects back. Plain types, no I/O.

export interface GroupVersionKind {
  group: string;
  version: string;
  kind: string;
}

export interface AdmissionRequest {
  uid: string;
  kind: GroupVersionKind;
  resource?: { group: string; version: string; resource: string };
  subResource?: string;
  name?: string;
  namespace?: string;
  operation: 'CREATE' | 'UPDATE' | 'DELETE' | 'CONNECT';
  object?: unknown;
  oldObject?: unknown;
  dryRun?: boolean;
}

export interface AdmissionResponse {
  uid: string;
  allowed: boolean;
  status?: {
    code: number;
    reason?: string;
    message: string;
    details?: { name?: string; kind?: string; causes?: { field: string; reason: string; message: string }[] };
  };
  warnings?: string[];
}

export interface AdmissionReview<T> {
  apiVersion: 'admission.k8s.io/v1';
  kind: 'AdmissionReview';
  request?: AdmissionRequest;
  response?: T;
}

export const allow = (uid: string, warnings?: string[]): AdmissionResponse => ({
  uid,
  allowed: true,
  ...(warnings?.length ? { warnings } : {}),
});

export const reviewResponse = (response: AdmissionResponse): AdmissionReview<AdmissionResponse> => ({
  apiVersion: 'admission.k8s.io/v1',
  kind: 'AdmissionReview',
  response,
});
