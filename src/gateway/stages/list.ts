// The request pipeline's stages, in order: adding a stage (rate limiting, say) is adding a module
// beside this one and a line here. Every front door (the proxy, forward-auth, ext_authz, operator
// simulations, tunnels decided again) runs this one list.
import { authenticate } from './authenticate.js';
import { context } from './context.js';
import { decide } from './decide.js';
import { framing } from './framing.js';
import { policies } from './policies.js';
import { refusal } from './refusal.js';
import { route } from './route.js';
import { shadow } from './shadow.js';
import type { StageFactory } from './stage.js';
import { target } from './target.js';
import { verdict } from './verdict.js';

export const STAGES: readonly StageFactory[] = [
  refusal, // what the request's reader already refused
  framing, // two Hosts, an unknown Transfer-Encoding
  target, // one normalisation; canonical for forward-auth and ext_authz; no reserved path forwarded
  policies, // the snapshot decided against
  authenticate, // the authenticator chain
  route, // action and resource
  context, // the condition keys the policies read
  decide, // cache, then evaluator
  shadow, // candidate policies, recorded when they disagree
  verdict, // allow, or the 403
];
