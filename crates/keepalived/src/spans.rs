//! Where the blocks of a configuration and their keywords were written.
//!
//! The typed [`crate::Config`] carries no locations (so that a configuration read back from written text
//! compares equal); [`Spans`] runs parallel to its lists instead, so that a consumer of the typed
//! configuration (director's import) can still name the file and line of a value it refuses or leaves out.

use std::collections::BTreeMap;

use crate::error::Location;
use crate::syntax::{count, Node};

/// One block: where it starts, where each keyword inside it is first written, and its sub-blocks that are
/// objects of their own (the real servers of a virtual server).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockSpan {
    /// The line of the block's keyword (`virtual_server 10.0.0.1 80 {`).
    pub at: Location,
    /// The first location of every keyword written in the block, nested blocks included (`digest` inside
    /// `HTTP_GET > url`), except inside the sub-blocks listed in `children`.
    pub keywords: BTreeMap<String, Location>,
    /// `real_server` blocks of a virtual server, in file order.
    pub children: Vec<BlockSpan>,
}

impl BlockSpan {
    /// The spans of `node`; `child` names the sub-blocks that get their own span.
    pub(crate) fn of(node: &Node, child: Option<&str>) -> Self {
        let block = node.block.as_deref().unwrap_or_default();
        let children = child.map_or(0, |k| count(block, |c| c == k));
        let mut span = BlockSpan {
            at: node.location.clone(),
            keywords: BTreeMap::new(),
            children: Vec::with_capacity(children),
        };
        for c in block {
            if Some(c.keyword.as_str()) == child {
                span.children.push(BlockSpan::of(c, None));
                continue;
            }
            span.add(c);
        }
        span
    }

    fn add(&mut self, node: &Node) {
        self.keywords
            .entry(node.keyword.clone())
            .or_insert_with(|| node.location.clone());
        for c in node.block.as_deref().unwrap_or_default() {
            self.add(c);
        }
    }

    /// Where `keyword` is written in the block, or the block's own line when it is not.
    pub fn line_of(&self, keyword: &str) -> &Location {
        self.keywords.get(keyword).unwrap_or(&self.at)
    }
}

/// Spans of a whole configuration, index for index with [`crate::Config`]'s lists.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Spans {
    /// `global_defs` (the first block; keywords of all of them).
    pub global_defs: Option<BlockSpan>,
    /// One per `Config::vrrp_scripts` entry.
    pub vrrp_scripts: Vec<BlockSpan>,
    /// One per `Config::vrrp_sync_groups` entry.
    pub vrrp_sync_groups: Vec<BlockSpan>,
    /// One per `Config::vrrp_instances` entry.
    pub vrrp_instances: Vec<BlockSpan>,
    /// One per `Config::virtual_servers` entry; `children` are its real servers.
    pub virtual_servers: Vec<BlockSpan>,
}

impl Spans {
    pub(crate) fn global_defs(&mut self, node: &Node) {
        let span = BlockSpan::of(node, None);
        match &mut self.global_defs {
            None => self.global_defs = Some(span),
            Some(g) => {
                for (k, v) in span.keywords {
                    g.keywords.entry(k).or_insert(v);
                }
            }
        }
    }
}
