# frozen_string_literal: true

require 'fileutils'
require 'json'
require 'securerandom'
require 'time'
require_relative 'client'
require_relative 'config'
require_relative 'constants'
require_relative 'error'

module PuppetX
  module Autoami
    # The report processor's work, kept out of Puppet::Reports so it can be tested alone.
    module Report
      METRICS = %w[changed failed failed_to_restart corrective_change].freeze
      # A run can touch thousands of resources; the sidecar needs only enough to show why.
      TITLES = 500

      # By certname alone, before anything is read: every other node's report costs nothing.
      def self.tracked?(certname)
        CERTNAME.match?(certname.to_s)
      end

      def self.resource_metric(report, name)
        metric = report.metrics && report.metrics['resources']
        value = metric && metric.values.find { |entry| entry[0].to_s == name }
        value ? value[2].to_i : 0
      end

      # Corrective: the change put back what the catalog already said (drift), which on a
      # fresh bake instance means the image's base differed, not that the role did.
      # Pending: what a noop run would have changed (its events say noop), which is how a
      # verification shows a new image has not converged.
      def self.titles(report)
        statuses = (report.resource_statuses || {}).values
        changed = statuses.select(&:changed)
        pending = statuses.select { |status| (status.events || []).any? { |event| event.status.to_s == 'noop' } }
        [changed.map(&:resource), statuses.select(&:failed).map(&:resource), changed.select(&:corrective_change).map(&:resource), pending.map(&:resource)]
      end

      def self.summary(report)
        changed, failed, corrective, pending = titles(report)
        summary = {
          'host' => report.host.to_s,
          'transaction_uuid' => report.transaction_uuid.to_s,
          'configuration_version' => report.configuration_version&.to_s,
          'status' => report.status.to_s,
          'environment' => report.environment&.to_s,
          'time' => report.time&.utc&.iso8601(3),
          'changed_resources' => changed.first(TITLES),
          'failed_resources' => failed.first(TITLES),
          'corrective_resources' => corrective.first(TITLES),
          'noop' => report.respond_to?(:noop) && report.noop == true,
          'pending_resources' => pending.first(TITLES),
        }
        METRICS.each { |name| summary[name] = resource_metric(report, name) }
        summary.reject { |_key, value| value.nil? }
      end

      # Facts that stay on the master: the user-data holds a bake's one-time challenge.
      DROPPED_FACTS = %w[ec2_userdata].freeze

      # The node's facts as the master cached them when it compiled the run's catalog (the
      # facts terminus Puppet Server uses, PuppetDB's included), for the next run's catalog
      # check. Without them the check just launches, so any trouble here costs no report.
      def self.facts(host)
        found = Puppet::Node::Facts.indirection.find(host)
        return nil unless found

        # Keys starting with _ are the master's own bookkeeping (e.g. _timestamp), not the node's.
        kept = found.values.reject { |name, _| DROPPED_FACTS.include?(name.to_s) || name.to_s.start_with?('_') }
        # A copy, so the cached facts are left as they were.
        values = JSON.parse(JSON.generate(kept))
        iam = values.dig('ec2_metadata', 'iam')
        iam.delete('security-credentials') if iam.is_a?(Hash)
        json = JSON.generate(values)
        if json.length > FACTS_MAX
          Puppet.warning("autoami: the facts of #{host} are #{json.length} characters, over #{FACTS_MAX}: its group's next run is not checked against its catalog")
          return nil
        end
        values
      rescue StandardError => e
        Puppet.warning("autoami: no facts for #{host} (#{e.class}: #{e.message}): its group's next run is not checked against its catalog")
        nil
      end

      # Only on a master: under `puppet apply` the facts terminus would run Facter again, and
      # no catalog check compiles against an apply.
      def self.with_facts(summary)
        return summary unless Puppet.run_mode.server?

        facts = facts(summary['host'])
        facts ? summary.merge('facts' => facts) : summary
      end

      # Straight to the sidecar with a short timeout, since the master waits on this; if
      # that fails for any reason, into the spool, which the sidecar replays when it is back.
      def self.deliver(summary)
        config = Config.load
        begin
          client = Client.new(Config.socket_path(config), timeout: SUBMIT_TIMEOUT)
          client.call('report.submit', summary)
        rescue Error, SystemCallError, IOError => e
          path = spool(summary, config)
          Puppet.warning("autoami: sidecar unreachable (#{e.message}); report for #{summary['host']} spooled to #{path}")
        ensure
          client&.close
        end
      end

      # Written to a temp name and renamed, so the sidecar never reads half a report.
      def self.spool(summary, config)
        dir = File.join(Config.state_dir(config), 'spool')
        # The module makes it; a master set up by hand may not have, and a report must not be lost.
        FileUtils.mkdir_p(dir, mode: 0o770)
        name = "#{Time.now.utc.strftime('%Y%m%dT%H%M%S%6N')}-#{SecureRandom.hex(4)}.json"
        temp = File.join(dir, ".#{name}.tmp")
        File.open(temp, File::WRONLY | File::CREAT | File::EXCL, 0o640) do |file|
          file.write(JSON.generate(summary))
          file.flush
          file.fsync
        end
        File.rename(temp, File.join(dir, name))
        File.join(dir, name)
      end
    end
  end
end
