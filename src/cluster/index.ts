// The cluster bus: policy generations and session revocations announced between replicas; and the
// agreement of the workers of `serve --workers N` on one policy set.
export { createClusterBus, type ClusterBus, type ClusterBusDeps, type GenerationListener, type RevocationListener } from './bus.js';
export { busMessageOf, type BusChannel, type BusMessage } from './ipc.js';
export { parseAnnouncement, type Announcement, type GenerationAnnouncement, type RevocationAnnouncement } from './transport.js';
export { agreementOf, createGenerationTracker, loadAgainOf, loadMessage, loadReportOf, UNREPORTED_WAIT_MS, type GenerationMessage, type GenerationTracker, type LoadReport, type WorkerAgreement } from './generations.js';
