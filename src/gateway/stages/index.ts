// The request pipeline as named stages of one shape.
export { STAGES } from './list.js';
export { CONTINUE, required, UNAUDITED_SOURCES, type Answer, type EventBase, type Stage, type StageContext, type StageDeps, type StageFactory, type StageResult } from './stage.js';
