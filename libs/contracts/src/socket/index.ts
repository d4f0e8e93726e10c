export * from './payloads.dto.js';
