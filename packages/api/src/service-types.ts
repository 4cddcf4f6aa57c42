import type * as grpc from '@grpc/grpc-js';

/**
 * A grpc-js method definition whose serializers take encoder inputs and whose
 * deserializers return decoded shapes (`Req extends ReqInit`, so it is also a
 * plain grpc MethodDefinition<ReqInit, ResInit>).
 */
export interface EtcdMethodDefinition<
  ReqInit,
  Req extends ReqInit,
  ResInit,
  Res extends ResInit,
  RequestStream extends boolean,
  ResponseStream extends boolean,
> extends grpc.MethodDefinition<ReqInit, ResInit> {
  path: string;
  requestStream: RequestStream;
  responseStream: ResponseStream;
  requestSerialize: (m: ReqInit) => Buffer;
  requestDeserialize: (b: Buffer) => Req;
  responseSerialize: (m: ResInit) => Buffer;
  responseDeserialize: (b: Buffer) => Res;
  /** The method name as written in the .proto file. */
  originalName: string;
}

export interface UnaryClientMethod<Req, Res> {
  (
    argument: Req,
    metadata: grpc.Metadata,
    options: Partial<grpc.CallOptions>,
    callback: grpc.requestCallback<Res>,
  ): grpc.ClientUnaryCall;
  (argument: Req, metadata: grpc.Metadata, callback: grpc.requestCallback<Res>): grpc.ClientUnaryCall;
  (argument: Req, options: Partial<grpc.CallOptions>, callback: grpc.requestCallback<Res>): grpc.ClientUnaryCall;
  (argument: Req, callback: grpc.requestCallback<Res>): grpc.ClientUnaryCall;
}

export interface ServerStreamClientMethod<Req, Res> {
  (argument: Req, metadata?: grpc.Metadata, options?: Partial<grpc.CallOptions>): grpc.ClientReadableStream<Res>;
  (argument: Req, options?: Partial<grpc.CallOptions>): grpc.ClientReadableStream<Res>;
}

export interface ClientStreamClientMethod<Req, Res> {
  (
    metadata: grpc.Metadata,
    options: Partial<grpc.CallOptions>,
    callback: grpc.requestCallback<Res>,
  ): grpc.ClientWritableStream<Req>;
  (metadata: grpc.Metadata, callback: grpc.requestCallback<Res>): grpc.ClientWritableStream<Req>;
  (options: Partial<grpc.CallOptions>, callback: grpc.requestCallback<Res>): grpc.ClientWritableStream<Req>;
  (callback: grpc.requestCallback<Res>): grpc.ClientWritableStream<Req>;
}

export interface BidiStreamClientMethod<Req, Res> {
  (metadata?: grpc.Metadata, options?: Partial<grpc.CallOptions>): grpc.ClientDuplexStream<Req, Res>;
  (options?: Partial<grpc.CallOptions>): grpc.ClientDuplexStream<Req, Res>;
}

/**
 * The type of `grpc.makeGenericClientConstructor(XService, 'X')` once cast,
 * e.g. `as unknown as KVClientConstructor`.
 */
export interface ClientConstructor<C> {
  new (address: string, credentials: grpc.ChannelCredentials, options?: Partial<grpc.ChannelOptions>): C;
  service: grpc.ServiceDefinition;
  serviceName: string;
}
