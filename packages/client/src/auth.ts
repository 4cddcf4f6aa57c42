import { authpb, GrpcCode, isEtcdError, prefixEnd, type etcdserverpb } from '@etcd-ts/api';
import type { CallOptions } from './call-options.js';
import { toBuffer, type Bytes } from './codec.js';
import { TransportError } from './errors.js';
import type { Rpc } from './rpc.js';

/** What a permission allows on its keys. */
export type PermissionType = 'read' | 'write' | 'readwrite';

/** A role's permission on one key or a key range [key, rangeEnd). */
export interface Permission {
  readonly permType: PermissionType;
  readonly key: Buffer;
  /** Empty: the single key `key`; "\0": every key from `key` on. */
  readonly rangeEnd: Buffer;
}

/** The keys a permission covers: one key, a range, or a prefix. */
export interface PermissionRange {
  readonly key: Bytes;
  /** End of the range (exclusive); "\0" means every key from `key` on. */
  readonly rangeEnd?: Bytes | undefined;
  /** Every key starting with `key` (wins over rangeEnd). */
  readonly prefix?: boolean | undefined;
}

export interface PermissionGrant extends PermissionRange {
  readonly permType: PermissionType;
}

export interface UserAddOptions extends CallOptions {
  /** A user that cannot authenticate with a password (etcd 3.4+: only via TLS client certificates). */
  readonly noPassword?: boolean | undefined;
}

/** Whether auth is enabled on the cluster. */
export interface AuthStatus {
  readonly enabled: boolean;
}

const PERM_TYPES: Readonly<Record<PermissionType, authpb.Permission_Type>> = {
  read: authpb.Permission_Type.READ,
  write: authpb.Permission_Type.WRITE,
  readwrite: authpb.Permission_Type.READWRITE,
};

function permTypeName(t: authpb.Permission_Type): PermissionType {
  return t === authpb.Permission_Type.WRITE ? 'write' : t === authpb.Permission_Type.READWRITE ? 'readwrite' : 'read';
}

function rangeOf(r: PermissionRange): { key: Buffer; rangeEnd: Buffer } {
  const key = toBuffer(r.key);
  if (r.prefix === true) return { key, rangeEnd: prefixEnd(key) };
  return { key, rangeEnd: r.rangeEnd === undefined ? Buffer.alloc(0) : toBuffer(r.rangeEnd) };
}

/**
 * etcd's Auth service: enabling auth, users, roles and their key
 * permissions. Reads (gets and lists) are retried whenever the error is
 * transient; changes only when the error proves they were not applied.
 * Every call but status() needs the root role once auth is enabled.
 *
 * Authenticate is not exposed: the client authenticates with the
 * credentials it was given, and again whenever the server refuses its token.
 */
export class AuthClient {
  constructor(private readonly rpc: Rpc) {}

  /**
   * Turns auth on. Refused with ROOT_USER_NOT_EXISTS / ROOT_ROLE_NOT_EXISTS
   * unless a user "root" with the role "root" exists. Afterwards every
   * request needs a token: a client without credentials is refused.
   */
  async authEnable(opts?: CallOptions): Promise<void> {
    await this.rpc.unary<etcdserverpb.AuthEnableResponse>('mutation', opts, (ep, md, o, cb) =>
      ep.auth.authEnable({}, md, o, cb),
    );
  }

  /** Turns auth off (needs the root role). */
  async authDisable(opts?: CallOptions): Promise<void> {
    await this.rpc.unary<etcdserverpb.AuthDisableResponse>('mutation', opts, (ep, md, o, cb) =>
      ep.auth.authDisable({}, md, o, cb),
    );
  }

  /**
   * Whether auth is enabled, for any caller. etcd 3.4 has no AuthStatus
   * request: this authenticates anonymously as the empty user name, which
   * the server refuses with AUTH_NOT_ENABLED when auth is off and with
   * AUTH_FAILED when it is on (etcd logs a warning for the refused
   * attempt). A server without the Auth service (UNIMPLEMENTED) cannot have
   * auth enabled.
   */
  async status(opts?: CallOptions): Promise<AuthStatus> {
    try {
      await this.rpc.unary<etcdserverpb.AuthenticateResponse>(
        'idempotent',
        opts,
        (ep, _md, o, cb) => ep.auth.authenticate({ name: '', password: '' }, o, cb),
        { anonymous: true },
      );
      // Only a user named "" with an empty password could get here.
      return { enabled: true };
    } catch (err) {
      if (isEtcdError(err, 'AUTH_NOT_ENABLED')) return { enabled: false };
      if (isEtcdError(err, 'AUTH_FAILED')) return { enabled: true };
      if (err instanceof TransportError && err.grpcCode === GrpcCode.UNIMPLEMENTED) return { enabled: false };
      throw err;
    }
  }

  /** Adds a user (with no roles). */
  async userAdd(name: string, password: string, opts?: UserAddOptions): Promise<void> {
    const noPassword = opts?.noPassword === true;
    await this.rpc.unary<etcdserverpb.AuthUserAddResponse>('mutation', opts, (ep, md, o, cb) =>
      ep.auth.userAdd(
        { name, password: noPassword ? '' : password, ...(noPassword ? { options: { noPassword: true } } : {}) },
        md,
        o,
        cb,
      ),
    );
  }

  /** A user's roles. Rejects with USER_NOT_FOUND for an unknown user. */
  async userGet(name: string, opts?: CallOptions): Promise<{ name: string; roles: string[] }> {
    const res = await this.rpc.unary<etcdserverpb.AuthUserGetResponse>('idempotent', opts, (ep, md, o, cb) =>
      ep.auth.userGet({ name }, md, o, cb),
    );
    return { name, roles: res.roles };
  }

  /** Every user name. */
  async userList(opts?: CallOptions): Promise<string[]> {
    const res = await this.rpc.unary<etcdserverpb.AuthUserListResponse>('idempotent', opts, (ep, md, o, cb) =>
      ep.auth.userList({}, md, o, cb),
    );
    return res.users;
  }

  async userDelete(name: string, opts?: CallOptions): Promise<void> {
    await this.rpc.unary<etcdserverpb.AuthUserDeleteResponse>('mutation', opts, (ep, md, o, cb) =>
      ep.auth.userDelete({ name }, md, o, cb),
    );
  }

  /** Sets a user's password (the user's existing tokens stay valid until they expire). */
  async userChangePassword(name: string, password: string, opts?: CallOptions): Promise<void> {
    await this.rpc.unary<etcdserverpb.AuthUserChangePasswordResponse>('mutation', opts, (ep, md, o, cb) =>
      ep.auth.userChangePassword({ name, password }, md, o, cb),
    );
  }

  async userGrantRole(user: string, role: string, opts?: CallOptions): Promise<void> {
    await this.rpc.unary<etcdserverpb.AuthUserGrantRoleResponse>('mutation', opts, (ep, md, o, cb) =>
      ep.auth.userGrantRole({ user, role }, md, o, cb),
    );
  }

  async userRevokeRole(user: string, role: string, opts?: CallOptions): Promise<void> {
    await this.rpc.unary<etcdserverpb.AuthUserRevokeRoleResponse>('mutation', opts, (ep, md, o, cb) =>
      ep.auth.userRevokeRole({ name: user, role }, md, o, cb),
    );
  }

  /** Adds a role (with no permissions). The role "root" grants every permission. */
  async roleAdd(name: string, opts?: CallOptions): Promise<void> {
    await this.rpc.unary<etcdserverpb.AuthRoleAddResponse>('mutation', opts, (ep, md, o, cb) =>
      ep.auth.roleAdd({ name }, md, o, cb),
    );
  }

  /** A role's permissions. Rejects with ROLE_NOT_FOUND for an unknown role. */
  async roleGet(name: string, opts?: CallOptions): Promise<{ name: string; permissions: Permission[] }> {
    const res = await this.rpc.unary<etcdserverpb.AuthRoleGetResponse>('idempotent', opts, (ep, md, o, cb) =>
      ep.auth.roleGet({ role: name }, md, o, cb),
    );
    return {
      name,
      permissions: res.perm.map((p) => ({ permType: permTypeName(p.permType), key: p.key, rangeEnd: p.rangeEnd })),
    };
  }

  /** Every role name. */
  async roleList(opts?: CallOptions): Promise<string[]> {
    const res = await this.rpc.unary<etcdserverpb.AuthRoleListResponse>('idempotent', opts, (ep, md, o, cb) =>
      ep.auth.roleList({}, md, o, cb),
    );
    return res.roles;
  }

  async roleDelete(name: string, opts?: CallOptions): Promise<void> {
    await this.rpc.unary<etcdserverpb.AuthRoleDeleteResponse>('mutation', opts, (ep, md, o, cb) =>
      ep.auth.roleDelete({ role: name }, md, o, cb),
    );
  }

  /** Grants `role` a permission on one key, a range, or a prefix. */
  async roleGrantPermission(role: string, perm: PermissionGrant, opts?: CallOptions): Promise<void> {
    const permType = PERM_TYPES[perm.permType];
    if (permType === undefined) throw new TypeError(`etcd client: unknown permission type ${String(perm.permType)}`);
    const range = rangeOf(perm);
    await this.rpc.unary<etcdserverpb.AuthRoleGrantPermissionResponse>('mutation', opts, (ep, md, o, cb) =>
      ep.auth.roleGrantPermission({ name: role, perm: { permType, ...range } }, md, o, cb),
    );
  }

  /**
   * Revokes the permission of `role` on exactly this key, range or prefix (as
   * granted; rejects with PERMISSION_NOT_GRANTED otherwise).
   */
  async roleRevokePermission(role: string, range: PermissionRange, opts?: CallOptions): Promise<void> {
    const r = rangeOf(range);
    await this.rpc.unary<etcdserverpb.AuthRoleRevokePermissionResponse>('mutation', opts, (ep, md, o, cb) =>
      ep.auth.roleRevokePermission({ role, ...r }, md, o, cb),
    );
  }
}
