// The local node agent: a real OVN dataplane on this machine, pods as network namespaces.
export {
  cannotRunReason,
  DATAPATH_TAP,
  isRoot,
  LOCK_FILE,
  maybeStartNodeAgent,
  type NodeAgent,
  type NodeAgentOptions,
  startNodeAgent,
} from './agent.ts';
export { execArgv, exitCode, podExecBackend, shellJoin } from './exec.ts';
export { ensureGateway, gatewayMac, ROUTER } from './gateway.ts';
export { hostIfName, netnsName, type PodNic, planNamespaces, podNic } from './pod-nic.ts';
