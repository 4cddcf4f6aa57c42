/** Outcome of counting votes (or acknowledgments) against the voters of a configuration. */
export const VoteResult = { VotePending: 1, VoteLost: 2, VoteWon: 3 } as const;
export type VoteResult = (typeof VoteResult)[keyof typeof VoteResult];
