// The cluster bus: policy generations and session revocations announced between replicas.
export { createClusterBus, type ClusterBus, type ClusterBusDeps, type GenerationListener, type RevocationListener } from './bus.js';
export { busMessageOf, type BusChannel, type BusMessage } from './ipc.js';
export { parseAnnouncement, type Announcement, type GenerationAnnouncement, type RevocationAnnouncement } from './transport.js';
