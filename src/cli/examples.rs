//! Each command's examples, printed verbatim after its options (`cli::command`) and in its man
//! page.

pub const MAN_EXAMPLES: &str = "\
Examples:
  cdnpub man | man -l -
  cdnpub man --out /usr/local/share/man/man1";

pub const PUBLISH_EXAMPLES: &str = "\
Examples:
  # the bundled example into a local directory (no configuration needed)
  cdnpub publish fixtures/vite-vue/dist --to ./public

  # a profile of cdnpub.toml: its cdn_server, targets, CDN provider and domain; look first
  cdnpub --env prod publish dist --dry-run
  cdnpub --env prod publish dist

  # staged release: pages go to releases/<id>/; `cdnpub rollout` routes a share of visitors there
  cdnpub --env prod publish dist --stage";

pub const RELEASES_EXAMPLES: &str = "\
Examples:
  cdnpub releases --to s3://site/web --endpoint https://oss-cn-hangzhou.aliyuncs.com
  cdnpub --env prod releases --json";

/// `cdnpub rollout` examples.
pub const ROLLOUT_EXAMPLES: &str = "\
Examples:
  # once: the routers named in rollout_routers get their code, everyone on the live release
  cdnpub --env prod rollout deploy --base /mobile-vue/pass/

  # publish the candidate beside the live release, then route 10% of visitors to it
  cdnpub --env prod publish dist --stage
  cdnpub --env prod rollout start 20261207T101500Z-3f9a1c2b --percent 10 --tag header:x-gray=1

  # widen, finish, or everyone back at once
  cdnpub --env prod rollout set 50
  cdnpub --env prod rollout promote
  cdnpub --env prod rollout abort";

pub const ROLLBACK_EXAMPLES: &str = "\
Examples:
  # back to the release before the live one, on every target of the profile; look first
  cdnpub --env prod rollback --dry-run
  cdnpub --env prod rollback

  # a given release (or promote a staged one to everyone)
  cdnpub --env prod rollback 20261124T101500Z-3f9a1c2b";

pub const CONFIG_EXAMPLES: &str = "\
Examples:
  cdnpub config check
  cdnpub --config deploy/cdnpub.toml config show --env prod";

pub const COMPLETIONS_EXAMPLES: &str = "\
Examples:
  cdnpub completions bash > /etc/bash_completion.d/cdnpub
  cdnpub completions zsh > \"${fpath[1]}/_cdnpub\"
  cdnpub completions fish > ~/.config/fish/completions/cdnpub.fish";

pub const UPLOAD_EXAMPLES: &str = "\
Examples:
  # MinIO / a custom endpoint (path-style), credentials from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY
  cdnpub upload public --to s3://site/prod --endpoint http://127.0.0.1:9000 --path-style

  # Alibaba OSS (virtual-hosted), credentials from ALIBABA_CLOUD_ACCESS_KEY_ID / _SECRET
  cdnpub upload public --to s3://my-bucket/web --endpoint https://oss-cn-hangzhou.aliyuncs.com --region cn-hangzhou

  # two data centres, see first, delete what no recent release needs
  cdnpub upload public --to s3://site-a/web --to s3://site-b/web --delete --dry-run";

pub const PURGE_EXAMPLES: &str = "\
Examples:
  # three files and a directory on Alibaba Cloud CDN (keys from ALIBABA_CLOUD_ACCESS_KEY_ID/_SECRET)
  cdnpub purge --provider aliyun --domain cdn.example.com /index.html /js/app.js https://cdn.example.com/css/app.css
  cdnpub purge --provider aliyun --domain cdn.example.com --dir /assets/

  # what the latest release changed, waiting until the CDN says done; look first with --dry-run
  cdnpub --env prod purge --changed --wait --dry-run

  # CloudFront, URLs from a file (one per line, - for stdin)
  cdnpub purge --provider cloudfront --distribution-id E123ABC --domain d111.cloudfront.net --from-file urls.txt

  # Tencent Cloud CDN (TENCENTCLOUD_SECRET_ID/_KEY): only what changed at the origin under a directory
  cdnpub purge --provider tencent --domain cdn.example.com --dir --dir-mode changed /assets/

  # Cloudflare (CLOUDFLARE_API_TOKEN), Qiniu (QINIU_ACCESS_KEY/_SECRET_KEY), Huawei (HUAWEICLOUD_SDK_AK/_SK)
  cdnpub purge --provider cloudflare --zone-id 023e105f4ecef8ad9ca31a8372d0c353 --domain www.example.com /index.html";

pub const PREFETCH_EXAMPLES: &str = "\
Examples:
  # warm the entry page and what it references, after a release
  cdnpub --env prod prefetch --changed

  # explicit URLs, mainland China nodes only
  cdnpub prefetch --provider aliyun --domain cdn.example.com --area domestic /index.html /js/app.js";

pub const VERIFY_EXAMPLES: &str = "\
Examples:
  # every key of the live release, through the profile's CDN server
  cdnpub --env prod verify

  # 200 keys (the entry pages and what they load first), then purge what the edge has stale
  cdnpub --env prod verify --sample 200 --purge-stale --wait

  # another base URL (a second CDN domain), one release, machine-readable
  cdnpub verify --to s3://site/web --cdn-base https://cdn2.example.com/web --release 20261204T101500Z-1a2b3c4d --json";

pub const BUILD_EXAMPLES: &str = "\
Examples:
  # a Vite or vue-cli output directory into a CDN-ready tree with .cdnpub/manifest.json
  cdnpub build dist --out public

  # keep the names of chunks that code loads by computed URL; faster brotli
  cdnpub build dist --out public --keep 'js/chunk-*.js' --brotli-quality 9

  # an app deployed under mobile-vue/pass/ (bundler base EGOVA_CDN/mobile-vue/pass/)
  cdnpub build dist --out public --base-path mobile-vue/pass

  # check a built tree (any bundler's, or cdnpub's) before it is uploaded
  cdnpub build --check public";

pub const REWRITE_EXAMPLES: &str = "\
Examples:
  # what the old replace_cdn entrypoint did, from the same variables
  CDN_REPLACE_FILES='mobile-vue/*/index.html' CDN_SERVER=https://cdn.example.com cdnpub rewrite

  # explicit flags; see what would change first
  cdnpub rewrite --root ./dist --server https://cdn.example.com --dry-run '**/*.html' 'assets/*.js'

  # a CI smoke test: fail (exit 3) if a placeholder would remain
  cdnpub rewrite --root ./dist --server https://cdn.example.com --dry-run --check '**/*.html'";
