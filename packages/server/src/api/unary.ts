/**
 * Adapts a promise-returning handler to grpc-js's unary callback style, mapping
 * failures through the shared error table. Errors never escape to grpc-js, so a
 * bad request costs one error response and nothing else.
 */
import type { sendUnaryData, ServerUnaryCall } from '@grpc/grpc-js';
import { toGrpcError } from './to-grpc-error.js';

export function unary<Req, Res>(
  handler: (request: Req, call: ServerUnaryCall<Req, Res>) => Promise<Res> | Res,
): (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>) => void {
  return (call, callback) => {
    let result: Promise<Res> | Res;
    try {
      result = handler(call.request, call);
    } catch (err) {
      callback(toGrpcError(err), null);
      return;
    }
    Promise.resolve(result).then(
      (res) => callback(null, res),
      (err: unknown) => callback(toGrpcError(err), null),
    );
  };
}
