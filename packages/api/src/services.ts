export * from './gen/services.js';
export type {
  BidiStreamClientMethod,
  ClientConstructor,
  ClientStreamClientMethod,
  EtcdMethodDefinition,
  ServerStreamClientMethod,
  UnaryClientMethod,
} from './service-types.js';
