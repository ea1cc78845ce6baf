// A directory with one role, AnyWorkload, that every subject of the cluster's service-account
// issuer may assume: for tests of how a workload's subject becomes (or is refused as) a session.
export const ANY_WORKLOAD_DIRECTORY = `
account: "111122223333"
policies:
  Reader:
    document:
      Version: "2012-10-17"
      Statement: [{ Effect: Allow, Action: "orders:GetOrder", Resource: "*" }]
roles:
  AnyWorkload:
    policies: [Reader]
    trustPolicy:
      Version: "2012-10-17"
      Statement:
        - Effect: Allow
          Principal: { Federated: kubernetes.default.svc }
          Action: sts:AssumeRoleWithWebIdentity
          Condition:
            StringLike: { "kubernetes.default.svc:sub": "*" }
`;

export const ANY_WORKLOAD_ROLE = 'arn:aws:iam::111122223333:role/AnyWorkload';
