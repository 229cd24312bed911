export {
  createKube,
  createKubeApi,
  IP_RESERVED_LABEL,
  type Kube,
  type KubeApi,
  type KubeObject,
  type KubeOptions,
  type ListOptions,
  loadKubeConfig,
  type MetadataPatch,
} from './client.ts';
export {
  isConflict,
  isNotFound,
  KubeApiError,
  KubeConflictError,
  KubeNotFoundError,
  toKubeError,
} from './errors.ts';
export {
  type ClusterKind,
  type CustomKind,
  collectionPath,
  KINDS,
  type KindInfo,
  type KindName,
} from './kinds.ts';
