import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { Problem } from '../../platform/http/problem.schema.js';
import * as service from './accounts.service.js';
import {
  AdminUser,
  AdminUserList,
  AdminUserParams,
  AdminUserQuery,
  Login,
  Me,
  MePatch,
  PasswordChange,
  RefreshBody,
  Register,
  RoleChange,
  Session,
} from './accounts.schemas.js';

const security = (request: FastifyRequest): service.SecurityContext => ({ requestId: request.id, ip: request.ip });

export async function accountRoutes(fastify: FastifyInstance, deps: service.AccountsDeps): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const tags = ['identity'];

  app.post(
    '/auth/register',
    {
      config: { rateLimitClass: 'login' },
      schema: {
        tags,
        summary: 'Create an account and sign in',
        body: Register,
        response: { 201: Session, 400: Problem, 409: Problem },
      },
    },
    async (request, reply) =>
      reply.status(201).send(await service.register(deps, request.body, request.lang, security(request))),
  );

  app.post(
    '/auth/login',
    {
      config: { rateLimitClass: 'login' },
      schema: {
        tags,
        summary: 'Sign in with email and password',
        body: Login,
        response: { 200: Session, 400: Problem, 401: Problem },
      },
    },
    async (request) => service.login(deps, request.body, security(request)),
  );

  app.post(
    '/auth/refresh',
    {
      schema: {
        tags,
        summary: 'Swap a refresh token for a new pair (the old one is spent)',
        body: RefreshBody,
        response: { 200: Session, 401: Problem },
      },
    },
    async (request) => service.refresh(deps, request.body.refreshToken, security(request)),
  );

  app.post(
    '/auth/logout',
    {
      schema: {
        tags,
        summary: 'Sign out: ends this sign-in and the current access tokens',
        body: RefreshBody,
        response: { 204: Type.Null() },
      },
    },
    async (request, reply) => {
      await service.logout(deps, request.body.refreshToken, security(request));
      return reply.status(204).send(null);
    },
  );

  app.get(
    '/me',
    { schema: { tags, summary: 'The signed-in user', response: { 200: Me, 401: Problem } } },
    async (request) => service.getMe(deps, request.actor.userId),
  );

  app.patch(
    '/me',
    {
      config: { rateLimitClass: 'write' },
      schema: {
        tags,
        summary: "Change the signed-in user's language (kept per account) or display name",
        body: MePatch,
        response: { 200: Me, 400: Problem, 401: Problem },
      },
    },
    async (request) => service.updateMe(deps, request.actor.userId, request.body, security(request)),
  );

  app.post(
    '/me/password',
    {
      schema: {
        tags,
        summary: 'Change the password; ends every other sign-in',
        body: PasswordChange,
        response: { 204: Type.Null(), 400: Problem, 401: Problem },
      },
    },
    async (request, reply) => {
      await service.changePassword(deps, request.actor.userId, request.body, security(request));
      return reply.status(204).send(null);
    },
  );

  // -------------------------------------------------------------------------------------------
  // Admin: accounts and roles

  const admin = ['admin'];
  const refusals = { 400: Problem, 401: Problem, 403: Problem, 404: Problem };

  app.get(
    '/admin/users',
    {
      schema: {
        tags: admin,
        summary: 'Accounts, newest first, found by part of the email or name, or by role (admin)',
        querystring: AdminUserQuery,
        response: { 200: AdminUserList, 400: Problem, 401: Problem, 403: Problem },
      },
    },
    async (request) => service.listUsers(deps.db, request.actor, request.query),
  );

  app.post(
    '/admin/users/:id/roles',
    {
      config: { rateLimitClass: 'write' },
      schema: {
        tags: admin,
        summary:
          'Grant a role: moderator or responder of a community, or admin (admin); granting it twice changes nothing',
        description: "The user's access tokens end, so the new role applies at once.",
        params: AdminUserParams,
        body: RoleChange,
        response: { 200: AdminUser, ...refusals },
      },
    },
    async (request) =>
      service.changeRole(deps, request.actor, request.params.id, 'grant', request.body, security(request)),
  );

  app.post(
    '/admin/users/:id/roles/revoke',
    {
      config: { rateLimitClass: 'write' },
      schema: {
        tags: admin,
        summary: 'Take a role away (admin); an admin cannot take away their own admin role (409)',
        params: AdminUserParams,
        body: RoleChange,
        response: { 200: AdminUser, ...refusals, 409: Problem },
      },
    },
    async (request) =>
      service.changeRole(deps, request.actor, request.params.id, 'revoke', request.body, security(request)),
  );
}
