export * from './write-coalescing.js';
