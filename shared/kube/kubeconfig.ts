// Loading kubeconfigs and credentials with @kubernetes/client-node (about 330 ms of module
// loading: a function replica imports this module only once it listens, see ./api.ts).

import { Agent as HttpsAgent } from 'node:https';
import { KubeConfig } from '@kubernetes/client-node';
import type { KubeApiOptions } from './api.ts';

export type KubeOptions = (
  | { kubeconfigPath: string; context?: string }
  | { server: string; token: string; caData?: string; skipTLSVerify?: boolean }
  | { kubeConfig: KubeConfig }
) &
  KubeApiOptions;

/**
 * For code that uses client-node's own APIs (informers): client-node builds a new https.Agent for
 * every API call, so every call pays a TCP + TLS
 * handshake (measured: about 50 creates/s against the dev API server, against about 1,300/s over
 * a kept-alive connection). This KubeConfig swaps in one keep-alive agent per cluster and user,
 * with the same TLS options. Proxied clusters keep client-node's own agents. It also bounds
 * every call with a timeout (client-node has none).
 */
class KeepAliveKubeConfig extends KubeConfig {
  private readonly agents = new Map<string, HttpsAgent>();
  requestTimeoutMs = 30_000;

  override async applySecurityAuthentication(
    context: Parameters<KubeConfig['applySecurityAuthentication']>[0],
  ): Promise<void> {
    await super.applySecurityAuthentication(context);
    if (!context.getSignal()) context.setSignal(AbortSignal.timeout(this.requestTimeoutMs));
    const cluster = this.getCurrentCluster();
    const made = context.getAgent();
    if (!cluster || cluster.proxyUrl || !(made instanceof HttpsAgent)) return;
    const key = `${cluster.name}/${this.getCurrentUser()?.name ?? ''}`;
    let agent = this.agents.get(key);
    if (!agent) {
      agent = new HttpsAgent({ ...made.options, keepAlive: true });
      this.agents.set(key, agent);
    }
    context.setAgent(agent);
  }

  /** Closes the kept-alive connections. */
  closeAgents(): void {
    for (const a of this.agents.values()) a.destroy();
    this.agents.clear();
  }
}

export function loadKubeConfig(opts: KubeOptions): KubeConfig {
  if ('kubeConfig' in opts) return opts.kubeConfig;
  const kc = new KeepAliveKubeConfig();
  if (opts.requestTimeoutMs) kc.requestTimeoutMs = opts.requestTimeoutMs;
  if ('kubeconfigPath' in opts) {
    kc.loadFromFile(opts.kubeconfigPath);
    if (opts.context) kc.setCurrentContext(opts.context);
    return kc;
  }
  kc.loadFromOptions({
    clusters: [
      {
        name: 'cluster',
        server: opts.server,
        caData: opts.caData,
        skipTLSVerify: opts.skipTLSVerify ?? false,
      },
    ],
    users: [{ name: 'user', token: opts.token }],
    contexts: [{ name: 'ctx', cluster: 'cluster', user: 'user' }],
    currentContext: 'ctx',
  });
  return kc;
}

/** In a cluster: the service account; elsewhere ~/.kube/config. */
export function defaultKubeConfig(): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromDefault();
  return kc;
}
